"""Model files shipped with porewatch: the segmentation U-Net (fp16 ONNX) and its model card."""
