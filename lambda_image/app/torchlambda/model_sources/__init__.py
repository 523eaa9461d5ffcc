"""Getting the model to the function: baked into the image, downloaded from S3 at init, or read
in place from EFS (contract.py, "Where the function finds its model").

Init (`locate.locate_model`, then `predictor.artifact.load_artifact`) is one path for the online
function and the batch worker. S3 objects travel through boto3's managed transfer, hashed as they
are written (`s3_object`); a build is its card and its weights, pinned to one sha256 (`build`).
The model copy function (`copy_handler`) puts a build onto the file system with the same code.
Every refusal is a `ModelSourceError`: init logs it as one line and stops.
"""
