"""The authors' trained DnCNN, FDnCNN and FFDNet networks (grayscale): where their weight files
are, their SHA-256, the σ each was trained for, how the authors' test code feeds it, and the
averages the authors published.

The files are downloaded from the authors' repositories at a pinned commit (never committed
here: those repositories declare no license). Published BSD68 averages: the DnCNN repository's
README (DnCNN-S, DnCNN-B, FDnCNN) and the FFDNet repository's figs/table1.png, for noise as in
the `gaussian` protocol (not clipped, not quantised); the authors drew it with MATLAB's
generator, so a different draw moves an average by about ±0.02 dB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DNCNN_COMMIT = "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a"
FFDNET_COMMIT = "e787f46df2f374ff3591186706229cb9a0591fea"
DNCNN_PAPER = ("Zhang, Zuo, Chen, Meng, Zhang: Beyond a Gaussian Denoiser: Residual Learning of "
               "Deep CNN for Image Denoising, IEEE TIP")
FFDNET_PAPER = ("Zhang, Zuo, Zhang: FFDNet: Toward a Fast and Flexible Solution for CNN-Based "
                "Image Denoising, IEEE TIP")


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


@dataclass(frozen=True)
class WeightFile:
    """One .mat file; `name` is its name in the cache (and in a local folder of copies)."""

    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class ReferenceModel:
    """`files` maps the σ a network was trained for to its file (key None: one network for
    every σ up to `max_sigma`). `residual`: the network predicts the noise, which the authors'
    test code subtracts from its input."""

    name: str
    paper: str
    year: int
    files: dict[float | None, WeightFile]
    residual: bool
    max_sigma: float | None = None
    blind: bool = False  # never told σ (it estimates the noise itself)
    published: dict[tuple[str, float], float] = field(default_factory=dict)

    def in_range(self, sigma: float) -> bool:
        if self.max_sigma is None:
            return sigma in self.files
        return 0 < sigma <= self.max_sigma

    def range_text(self) -> str:
        if self.max_sigma is None:
            return "σ ∈ {" + ", ".join(f"{s:g}" for s in sorted(self.files)) + "} (one network each)"
        return f"0 < σ ≤ {self.max_sigma:g}"

    def weight_file(self, sigma: float) -> WeightFile:
        """The file for noise level σ: the single network, else the one trained nearest to σ."""
        if None in self.files:
            return self.files[None]
        return self.files[min(self.files, key=lambda trained: abs(trained - sigma))]


def _dncnn_specific(sigma: int, sha256: str) -> WeightFile:
    return WeightFile(f"dncnn_s_sigma{sigma}.mat",
                      _github("cszn/DnCNN", DNCNN_COMMIT, f"model/specifics/sigma%3D{sigma}.mat"), sha256)


MODELS = {model.name: model for model in (
    ReferenceModel(
        "dncnn", f"DnCNN-S: {DNCNN_PAPER}", 2017, residual=True,
        files={15.0: _dncnn_specific(15, "657d5115fa05d371dbf0df1f0a931eff274dae29d08a9cc0824a28caf2460e21"),
               25.0: _dncnn_specific(25, "5a5404c9e3ef14e353760e14b885439408a654618e14f13b2e97b99b9835020b"),
               50.0: _dncnn_specific(50, "517dc0b55a8da2c129704ed7921b8557aac40cf3aae9f700dc41a9e25cad0983")},
        published={("bsd68", 15.0): 31.73, ("bsd68", 25.0): 29.23, ("bsd68", 50.0): 26.23}),
    ReferenceModel(
        "dncnn_b", f"DnCNN-B (blind): {DNCNN_PAPER}", 2017, residual=True, max_sigma=55.0, blind=True,
        files={None: WeightFile(
            "dncnn_b_gray_blind.mat", _github("cszn/DnCNN", DNCNN_COMMIT, "model/GD_Gray_Blind.mat"),
            "37f76da0b71dd2b2789ce91848fe2f184ab486203c9af9ac1b98199b60ea02b0")},
        published={("bsd68", 15.0): 31.61, ("bsd68", 25.0): 29.16, ("bsd68", 50.0): 26.23}),
    ReferenceModel(
        "fdncnn", f"FDnCNN (DnCNN with a noise-level map): {FFDNET_PAPER}", 2018, residual=False,
        max_sigma=75.0,
        files={None: WeightFile(
            "fdncnn_gray.mat", _github("cszn/DnCNN", DNCNN_COMMIT, "model/FDnCNN_gray.mat"),
            "0f1941edbb9181a0214f9144c3bda8669f9ff036a01c20c9b3c0bf56b2e85a4e")},
        published={("bsd68", 15.0): 31.69, ("bsd68", 25.0): 29.22, ("bsd68", 50.0): 26.27}),
    ReferenceModel(
        "ffdnet", f"FFDNet: {FFDNET_PAPER}", 2018, residual=False, max_sigma=75.0,
        files={None: WeightFile(
            "ffdnet_gray.mat", _github("cszn/FFDNet", FFDNET_COMMIT, "models/FFDNet_gray.mat"),
            "14c231e87a444a9bd85b0b5e174e73b4f6ac50bf4050e75a0d3f4d69f77a2093")},
        published={("bsd68", 15.0): 31.63, ("bsd68", 25.0): 29.19, ("bsd68", 50.0): 26.29,
                   ("bsd68", 75.0): 24.79}),
)}
