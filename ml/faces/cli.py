"""``python -m ml.faces``: detect, embed, verify, cluster, evaluate and calibrate from a shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.faces.dataset import IMAGE_SUFFIXES, main_face
from ml.faces.embedders import DEFAULT_EMBEDDER, EMBEDDERS
from ml.images import ImageError, open_image
from ml.weights import MissingWeightsError


def _detector(args: argparse.Namespace):  # lazy imports keep --help fast
    from ml.faces.detect import FaceDetector

    return FaceDetector(
        device=args.device, min_face_size=args.min_face_size, min_score=args.min_score, max_side=args.max_side
    )


def _embedder(args: argparse.Namespace):
    from ml.faces.embedders import get_embedder

    return get_embedder(args.embedder, device=args.device)


def _images_under(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return found


def cmd_detect(args: argparse.Namespace) -> int:
    if args.overlay and len(args.images) != 1:
        raise SystemExit("--overlay needs exactly one image")
    detector = _detector(args)
    report = []
    for path in args.images:
        image = open_image(path)
        faces = detector.detect(image)
        report.append(
            {"image": path, "width": image.width, "height": image.height, "faces": [f.__dict__ for f in faces]}
        )
        if not args.json:
            print(f"{path}: {len(faces)} face(s) in {image.width}×{image.height}")
            for i, face in enumerate(faces):
                box = " ".join(f"{v:.0f}" for v in face.box)
                print(f"  face {i}: box {box}  score {face.score:.4f}")
        if args.overlay:
            from ml.faces.draw import draw_faces

            Path(args.overlay).parent.mkdir(parents=True, exist_ok=True)
            draw_faces(image, faces).save(args.overlay)
            if not args.json:
                print(f"overlay written to {args.overlay}")
    if args.json:
        print(json.dumps(report, indent=1))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    detector, embedder = _detector(args), _embedder(args)
    rows = []
    for path in args.images:
        image = open_image(path)
        faces = detector.detect(image)
        vectors = embedder.embed_faces(image, faces)
        for i, (face, vector) in enumerate(zip(faces, vectors, strict=True)):
            rows.append(vector)
            head = " ".join(f"{v:+.3f}" for v in vector[:4])
            print(f"{path} face {i} score {face.score:.3f}: {embedder.name} [{head} …] ({embedder.dim}-d, unit norm)")
    if args.out:
        np.save(args.out, np.stack(rows) if rows else np.zeros((0, embedder.dim), np.float32))
        print(f"{len(rows)} embedding(s) saved to {args.out}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ml.faces.verify import verify

    detector, embedder = _detector(args), _embedder(args)
    vectors = []
    for path in (args.first, args.second):
        image = open_image(path)
        face = main_face(detector.detect(image))
        if face is None:
            print(f"{path}: no face found", file=sys.stderr)
            return 2
        vectors.append(embedder.embed_faces(image, [face])[0])
    threshold = args.threshold if args.threshold is not None else embedder.default_threshold
    result = verify(vectors[0], vectors[1], threshold, metric="cosine")
    verdict = "same person" if result.same else "different people"
    print(
        f"{verdict}: cosine distance {result.distance:.4f}, threshold {result.threshold:.4f}, score {result.score:.3f}"
    )
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from ml.faces.cluster import NOISE, dbscan, kmeans

    detector, embedder = _detector(args), _embedder(args)
    names, vectors = [], []
    for path in _images_under(args.paths):
        try:
            image = open_image(path)
        except ImageError as exc:
            print(f"skipped {path}: {exc}", file=sys.stderr)
            continue
        faces = detector.detect(image)
        for i, vector in enumerate(embedder.embed_faces(image, faces)):
            names.append(f"{path}#{i}")
            vectors.append(vector)
    if not vectors:
        print("no faces found")
        return 1
    embeddings = np.stack(vectors)
    if args.kmeans:
        labels = kmeans(embeddings, args.kmeans, seed=args.seed)
    else:
        eps = args.eps if args.eps is not None else embedder.spec.cluster_eps
        labels = dbscan(embeddings, eps=eps, min_faces=args.min_faces)
    for label in sorted(set(labels.tolist())):
        members = [name for name, lab in zip(names, labels.tolist(), strict=True) if lab == label]
        title = "noise" if label == NOISE else f"cluster {label}"
        print(f"{title} ({len(members)}): {', '.join(members)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ml.faces.evaluate import evaluate_folder

    report = evaluate_folder(
        args.folder, _embedder(args), _detector(args), folds=args.folds, target_fars=tuple(args.far), seed=args.seed
    )
    print(report.table())
    if args.roc:
        report.roc_png(args.roc)
        print(f"ROC written to {args.roc}")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=1))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ml.faces.dataset import embed_folder
    from ml.faces.evaluate import all_pairs, calibrate
    from ml.faces.verify import cosine_distance

    faces = embed_folder(args.folder, _embedder(args), _detector(args))
    i, j, same = all_pairs(faces.labels)
    distances = np.asarray(cosine_distance(faces.embeddings[i], faces.embeddings[j]))
    threshold = calibrate(distances, same, args.target_far)
    tar = float(np.mean(distances[same] <= threshold))
    far = float(np.mean(distances[~same] <= threshold))
    print(
        f"threshold {threshold:.4f} (cosine, {args.embedder}) for target FAR {args.target_far:g}: "
        f"measured FAR {far:.4%}, TAR {tar:.2%} on {int(same.sum())} genuine / {int((~same).sum())} impostor pairs"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.faces", description="Face detection and recognition.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, embeds: bool = True) -> None:
        p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
        p.add_argument("--min-face-size", type=int, default=20, help="smallest face in pixels (default 20)")
        p.add_argument("--min-score", type=float, default=0.9, help="detection probability cut-off (default 0.9)")
        p.add_argument("--max-side", type=int, default=1600, help="downscale larger photos for detection")
        if embeds:
            p.add_argument("--embedder", choices=list(EMBEDDERS), default=DEFAULT_EMBEDDER)

    p = sub.add_parser("detect", help="find faces: boxes, scores, landmarks")
    p.add_argument("images", nargs="+")
    p.add_argument("--overlay", help="write the image with boxes and landmarks drawn (one image only)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    common(p, embeds=False)
    p.set_defaults(run=cmd_detect)

    p = sub.add_parser("embed", help="embeddings of every face in the images")
    p.add_argument("images", nargs="+")
    p.add_argument("--out", help="save all embeddings as a .npy (N, dim) float32 array")
    common(p)
    p.set_defaults(run=cmd_embed)

    p = sub.add_parser("verify", help="are the main faces of two photos the same person?")
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--threshold", type=float, help="cosine distance cut-off (default: the embedder's)")
    common(p)
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("cluster", help="group all faces in images/folders by person")
    p.add_argument("paths", nargs="+", help="images or folders (searched recursively)")
    p.add_argument("--eps", type=float, help="DBSCAN cosine radius (default: the embedder's, 0.40 FaceNet, 0.07 dlib)")
    p.add_argument("--min-faces", type=int, default=2, help="faces (itself included) a core face needs within eps")
    p.add_argument("--kmeans", type=int, metavar="K", help="use K-means with K clusters instead of DBSCAN")
    p.add_argument("--seed", type=int, default=0)
    common(p)
    p.set_defaults(run=cmd_cluster)

    p = sub.add_parser("evaluate", help="verification accuracy, ROC, TAR@FAR, open-set identification")
    p.add_argument("folder", help="folder of <person>/<photo> sub-folders")
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--far", type=float, nargs="+", default=[1e-2, 1e-3], help="FARs to report TAR at")
    p.add_argument("--roc", help="write the ROC curve as a PNG")
    p.add_argument("--json", help="also write the figures as JSON")
    p.add_argument("--seed", type=int, default=0)
    common(p)
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("calibrate", help="the cosine threshold that meets a target false-accept rate")
    p.add_argument("folder", help="folder of <person>/<photo> sub-folders")
    p.add_argument("--target-far", type=float, default=1e-3)
    common(p)
    p.set_defaults(run=cmd_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ImageError, MissingWeightsError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
