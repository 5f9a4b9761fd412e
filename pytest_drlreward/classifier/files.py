"""The classifier directory's file names and format versions: the bottom of ``classifier/`` (directory, listing,
writer and export all name these files; none of them is imported here)."""

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
ONNX_FILE = "classifier.onnx"
TORCH_FILE = "classifier.pt"
METADATA_FILE = "metadata.json"
