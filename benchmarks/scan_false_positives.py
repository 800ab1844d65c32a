"""False positives of opentrust scan (and picklescan) on real benign model files.

    .venv/bin/python benchmarks/scan_false_positives.py [--corpus DIR] [--rebuild]

Writes real files with the libraries themselves — scikit-learn estimators of every family (pickle and
joblib, plain and compressed), scipy sparse matrices, numpy random generators, and, when the torch bench
venv exists (/work/bench-venvs/torch, ``pip install torch==2.13.0``), torch state dicts, whole modules,
optimizers, schedulers, grad scalers, checkpoints with argparse namespaces, legacy-format and TorchScript
files — then scans the folder with each tool in one run and prints, per tool, how many files get a finding
at medium or above and at high or above (what fails the default CI gate), and which rules fired. This is the
measurement behind the "unknown function called" rule (PICKLE-UNKNOWN-CALL, high): a benign data file
should almost never call a function nothing vouches for.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("OPENTRUST_BENCH_VENVS", "/work/bench-venvs"))

_SKLEARN = r"""
import pickle, sys, warnings
from pathlib import Path
import joblib, numpy as np, scipy.sparse as sp
warnings.filterwarnings("ignore")
from sklearn import (calibration, cluster, compose, decomposition, discriminant_analysis, ensemble, feature_extraction,
                     gaussian_process, impute, isotonic, linear_model, model_selection, naive_bayes, neighbors,
                     neural_network, pipeline, preprocessing, svm, tree)
from sklearn.datasets import make_classification, make_regression
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
X, y = make_classification(n_samples=300, n_features=8, random_state=0)
Xr, yr = make_regression(n_samples=300, n_features=8, random_state=0)
Xp = np.abs(X)
texts = ["the cat sat", "a dog ran", "the dog sat down", "cats and dogs"] * 20
labels = [0, 1, 1, 0] * 20
models = {
    "logreg": linear_model.LogisticRegression(max_iter=500).fit(X, y),
    "ridge": linear_model.Ridge().fit(Xr, yr), "lasso": linear_model.Lasso().fit(Xr, yr),
    "sgd": linear_model.SGDClassifier(random_state=0).fit(X, y),
    "svc": svm.SVC(probability=True, random_state=0).fit(X, y), "linsvc": svm.LinearSVC().fit(X, y),
    "knn_kd": neighbors.KNeighborsClassifier(algorithm="kd_tree").fit(X, y),
    "knn_ball": neighbors.KNeighborsClassifier(algorithm="ball_tree").fit(X, y),
    "knn_brute": neighbors.KNeighborsClassifier(algorithm="brute").fit(X, y),
    "kdtree": neighbors.KDTree(X), "balltree": neighbors.BallTree(X),
    "rf": ensemble.RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y),
    "rfr": ensemble.RandomForestRegressor(n_estimators=5, random_state=0).fit(Xr, yr),
    "extra": ensemble.ExtraTreesClassifier(n_estimators=5, random_state=0).fit(X, y),
    "gb": ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y),
    "hgb": ensemble.HistGradientBoostingClassifier(max_iter=5).fit(X, y),
    "hgbr": ensemble.HistGradientBoostingRegressor(max_iter=5).fit(Xr, yr),
    "ada": ensemble.AdaBoostClassifier(n_estimators=5).fit(X, y),
    "iforest": ensemble.IsolationForest(n_estimators=5, random_state=0).fit(X),
    "voting": ensemble.VotingClassifier([("a", linear_model.LogisticRegression()), ("b", naive_bayes.GaussianNB())],
                                        voting="soft").fit(X, y),
    "stacking": ensemble.StackingClassifier([("a", tree.DecisionTreeClassifier())],
                                            final_estimator=linear_model.LogisticRegression()).fit(X, y),
    "dtree": tree.DecisionTreeClassifier(random_state=0).fit(X, y),
    "kmeans": cluster.KMeans(n_clusters=3, n_init=2, random_state=0).fit(X),
    "mbkmeans": cluster.MiniBatchKMeans(n_clusters=3, n_init=2, random_state=0).fit(X),
    "dbscan": cluster.DBSCAN().fit(X), "pca": decomposition.PCA(3).fit(X),
    "tsvd": decomposition.TruncatedSVD(3).fit(X), "nmf": decomposition.NMF(3, max_iter=50).fit(Xp),
    "scaler": preprocessing.StandardScaler().fit(X), "minmax": preprocessing.MinMaxScaler().fit(X),
    "onehot": preprocessing.OneHotEncoder().fit([["a"], ["b"], ["c"]]),
    "ordinal": preprocessing.OrdinalEncoder().fit([["a"], ["b"]]),
    "labelenc": preprocessing.LabelEncoder().fit(["x", "y", "z"]),
    "poly": preprocessing.PolynomialFeatures(2).fit(X), "quantile": preprocessing.QuantileTransformer(
        n_quantiles=50).fit(X), "power": preprocessing.PowerTransformer().fit(X),
    "functrans": preprocessing.FunctionTransformer(np.log1p).fit(Xp),
    "tfidf": feature_extraction.text.TfidfVectorizer().fit(texts),
    "count": feature_extraction.text.CountVectorizer(ngram_range=(1, 2)).fit(texts),
    "hashing": feature_extraction.text.HashingVectorizer(n_features=64),
    "gnb": naive_bayes.GaussianNB().fit(X, y), "mnb": naive_bayes.MultinomialNB().fit(Xp, y),
    "mlp": neural_network.MLPClassifier(max_iter=20, random_state=0).fit(X, y),
    "gpr": gaussian_process.GaussianProcessRegressor(
        kernel=gaussian_process.kernels.RBF() + gaussian_process.kernels.WhiteKernel()).fit(Xr[:50], yr[:50]),
    "isotonic": isotonic.IsotonicRegression().fit(Xr[:, 0], yr),
    "calibrated": calibration.CalibratedClassifierCV(linear_model.LogisticRegression(), cv=3).fit(X, y),
    "lda": discriminant_analysis.LinearDiscriminantAnalysis().fit(X, y),
    "imputer": impute.SimpleImputer().fit(X), "knnimputer": impute.KNNImputer().fit(X),
    "pipeline": pipeline.Pipeline([("s", preprocessing.StandardScaler()),
                                   ("c", linear_model.LogisticRegression())]).fit(X, y),
    "coltrans": compose.ColumnTransformer([("num", preprocessing.StandardScaler(), [0, 1]),
                                           ("pass", "passthrough", [2])]).fit(X),
    "textclf": pipeline.make_pipeline(feature_extraction.text.TfidfVectorizer(),
                                      linear_model.LogisticRegression()).fit(texts, labels),
    "gridsearch": model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [0.1, 1]}, cv=2).fit(X, y),
    "sparse_csr": sp.random(20, 20, density=0.1, format="csr", random_state=0),
    "sparse_coo": sp.random(20, 20, density=0.1, format="coo", random_state=0),
    "rng": np.random.default_rng(0), "legacy_rng": np.random.RandomState(0),
    "arrays": {"f": np.arange(10.0), "i": np.arange(5), "s": np.array(["a", "b"]), "obj": np.array([1, "x"], dtype=object)},
}
for name, obj in models.items():
    with open(out / f"{name}.pkl", "wb") as fh:
        pickle.dump(obj, fh)
    joblib.dump(obj, out / f"{name}.joblib")
joblib.dump(models["pipeline"], out / "pipeline_zlib.joblib", compress=3)
joblib.dump(models["rf"], out / "rf_lzma.joblib", compress=("lzma", 3))
print(len(list(out.iterdir())))
"""

_TORCH = r"""
import argparse, pathlib, sys, torch, torch.nn as nn
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.LayerNorm(32), nn.Dropout(0.1), nn.Linear(32, 4))
cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
rnn = nn.LSTM(8, 16, batch_first=True)
enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=16, nhead=2, batch_first=True), num_layers=1)
emb = nn.Embedding(100, 8)
opt = torch.optim.AdamW(mlp.parameters(), lr=1e-3)
mlp(torch.randn(4, 16)).sum().backward(); opt.step()
sgd = torch.optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=10)
scaler = torch.amp.GradScaler("cpu")
files = {
    "state_dict.pt": mlp.state_dict(), "cnn_state_dict.pt": cnn.state_dict(), "lstm_state_dict.pt": rnn.state_dict(),
    "transformer_state_dict.pt": enc.state_dict(),
    "full_mlp.pt": mlp, "full_cnn.pt": cnn, "full_lstm.pt": rnn, "full_transformer.pt": enc, "full_embedding.pt": emb,
    "optimizer_object.pt": opt, "sgd_object.pt": sgd, "optimizer_state.pt": opt.state_dict(),
    "scheduler_object.pt": sched, "scheduler_state.pt": sched.state_dict(), "cosine_object.pt": cos,
    "scaler_state.pt": scaler.state_dict(),
    "checkpoint.pth": {"model": mlp.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                       "epoch": 3, "best": 0.91, "args": argparse.Namespace(lr=1e-3, layers=[16, 32]),
                       "path": pathlib.Path("/tmp/run1"), "rng": torch.get_rng_state()},
    "tensors.pt": {"f16": torch.randn(3).half(), "bf16": torch.randn(3).bfloat16(), "i64": torch.arange(5),
                   "bool": torch.ones(2, dtype=torch.bool), "complex": torch.randn(2, dtype=torch.cfloat),
                   "sparse": torch.randn(4, 4).to_sparse(), "param": nn.Parameter(torch.randn(2)),
                   "strided_view": torch.randn(4, 4)[:, 1], "device": torch.device("cpu"), "size": torch.Size([2, 3]),
                   "dtype": torch.float32},
    "dataset.pt": torch.utils.data.TensorDataset(torch.randn(4, 2), torch.arange(4)),
    "generator_state.pt": torch.Generator().manual_seed(1).get_state(),
}
for name, obj in files.items():
    torch.save(obj, out / name)
torch.save(mlp.state_dict(), out / "legacy_state_dict.bin", _use_new_zipfile_serialization=False)
torch.save(mlp, out / "legacy_full_mlp.bin", _use_new_zipfile_serialization=False)
torch.jit.save(torch.jit.script(mlp), out / "torchscript_mlp.pt")
torch.jit.save(torch.jit.trace(cnn.eval(), torch.randn(1, 3, 8, 8)), out / "torchscript_cnn_traced.pt")
qmodel = torch.ao.quantization.quantize_dynamic(nn.Sequential(nn.Linear(8, 8)), {nn.Linear}, dtype=torch.qint8)
torch.save(qmodel.state_dict(), out / "quantized_state_dict.pt")
print(len(list(out.iterdir())))
"""


def build(root: Path) -> dict[str, int]:
    counts = {}
    sk = root / "sklearn"
    subprocess.run([sys.executable, "-c", _SKLEARN, str(sk)], check=True)
    counts["sklearn/joblib"] = len(list(sk.iterdir()))
    py = VENVS / "torch" / "bin" / "python"
    if py.exists():
        th = root / "torch"
        subprocess.run([str(py), "-c", _TORCH, str(th)], check=True)
        counts["torch"] = len(list(th.iterdir()))
    else:
        print(f"  ! no torch venv at {VENVS / 'torch'}: torch files left out")
    return counts


def run_opentrust(root: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "opentrust"), "scan", str(root), "--format", "json",
                           "--fail-on", "none"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    hits: dict[str, list[tuple[str, str]]] = {}
    for f in json.loads(proc.stdout)["findings"]:
        hits.setdefault(f["path"].split("!")[0], []).append((f["severity"], f["rule_id"]))
    return wall, hits


def run_picklescan(root: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    exe = VENVS / "picklescan" / "bin" / "picklescan"
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "--path", str(root)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    hits: dict[str, list[tuple[str, str]]] = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        if " import '" in line and line.startswith("/"):
            path, _, rest = line.partition(": ")
            sev = "high" if rest.startswith("dangerous") else "medium"
            hits.setdefault(path, []).append((sev, rest[:80]))
    return wall, hits


RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/opentrust-fp-corpus"))
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    root = args.corpus
    if args.rebuild and root.exists():
        shutil.rmtree(root)
    if not root.exists():
        print(f"building {root} ...", flush=True)
        counts = build(root)
    else:
        counts = {d.name: len(list(d.iterdir())) for d in root.iterdir() if d.is_dir()}
    files = sorted(str(p) for p in root.rglob("*") if p.is_file())
    print(f"corpus: {len(files)} real benign files ({', '.join(f'{k} {v}' for k, v in counts.items())})\n")
    tools = [("opentrust", run_opentrust)]
    if (VENVS / "picklescan" / "bin" / "picklescan").exists():
        tools.append(("picklescan", run_picklescan))
    print(f"{'tool':<11} {'files >= medium':>15} {'files >= high':>13} {'seconds':>8}  rules at medium or above")
    for name, fn in tools:
        wall, hits = fn(root)
        medium = [p for p, rows in hits.items() if any(RANK.get(s, 0) >= 2 for s, _ in rows)]
        high = [p for p, rows in hits.items() if any(RANK.get(s, 0) >= 3 for s, _ in rows)]
        rules = Counter(r for rows in hits.values() for s, r in rows if RANK.get(s, 0) >= 2)
        print(f"{name:<11} {len(medium):>7}/{len(files):<7} {len(high):>5}/{len(files):<7} {wall:>8.2f}  "
              + ", ".join(f"{r} x{n}" for r, n in rules.most_common(6)))
        for p in sorted(high):
            print(f"    high: {Path(p).relative_to(root)}: {sorted({r for s, r in hits[p] if RANK.get(s, 0) >= 3})}")


if __name__ == "__main__":
    main()
