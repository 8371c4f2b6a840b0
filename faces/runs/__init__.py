"""Job bodies of the faces app (the work of each RQ job); imported only by ``faces.jobs``."""
