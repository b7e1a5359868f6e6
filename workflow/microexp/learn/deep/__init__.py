"""Deep 2D baselines of DSME-3D Table 12, trained honestly under LOSO (DSME-3D Sec. 4.3.3).

Three networks, each trained from scratch for every fold with a fixed number of epochs and
evaluated after the last epoch (never an epoch or a model picked on the test subject):

``ststnet``
    STSTNet (Liong et al. 2019, "Shallow triple stream three-dimensional CNN"). Input
    (N, 3, 28, 28): the onset-apex u, v and optical strain images. Three parallel 3 x 3
    convolutions with 3, 5 and 8 filters on all three channels (padding 2, so 30 x 30, as in
    the authors' PyTorch port), each followed by ReLU, batch normalisation, 3 x 3 max pooling
    with stride 3 and padding 1 (10 x 10) and dropout 0.5; the 16 maps are concatenated,
    average-pooled 2 x 2 (5 x 5) and a dense layer maps the 400 values to the classes.
``offapexnet``
    OFF-ApexNet (Gan et al. 2019). Input (N, 3, 28, 28); channels 0 (u) and 1 (v) are used,
    each in its own stream, standardised per sample (the image's own mean and standard
    deviation, inside the network, no fitted state), then: 5 x 5 convolution with 6 filters
    (padding 2), ReLU, 2 x 2 max pooling (14 x 14), 5 x 5 convolution with 16 filters, ReLU,
    2 x 2 max pooling (7 x 7). The two streams' 2 x 784 values are concatenated, then dense
    1024 + ReLU, dropout 0.5, dense 1024 + ReLU, dropout 0.5, dense to the classes.
``stcnn3d``
    A small spatio-temporal 3D CNN in the spirit of the 3D-CNN DSME-3D cites (Reddy et al.
    2019, MicroExpSTCNN). Input (N, 1, T, H, W), the aligned gray clip resampled to a fixed
    length (T, H, W divisible by 4). Per sample the clip is standardised (its own mean and
    standard deviation, inside the network, no fitted state), then 3 x 3 x 3 convolution with 8
    filters (padding 1), ReLU, 2 x 2 x 2 max pooling, 3 x 3 x 3 convolution with 16 filters, ReLU,
    2 x 2 x 2 max pooling, dropout 0.5, dense to the classes.

Inputs are taken as given (STSTNet's published code feeds raw 0-255 image values, see
docs/flow.md for the flow stage's exact normalisation); STSTNet's batch normalisation is the
only normalisation it needs. Training follows STSTNet's published code: Adam (PyTorch's
defaults: betas 0.9, 0.999, eps 1e-8), cross-entropy averaged over the mini-batch, learning
rate 5e-5, batch 256, 800 epochs; PyTorch's default initialisation (uniform, +-1/sqrt(fan in),
for weights and biases; batch-norm scale 1, shift 0, momentum 0.1, eps 1e-5). The samples are
shuffled once with the seed (one permutation shared by every fold) and the mini-batches are the
same every epoch; the published code does not shuffle at all. How the permutation is cut
depends on the way of training:

- **shared mini-batches** (STSTNet on the CPU, its default there; ``learn/deep/shared.py``):
  the rows some fold trains on, in permutation order, are cut into consecutive chunks of
  ``batch_size``; at step k every fold's mini-batch is its own training rows of chunk k, i.e.
  chunk k less its test subject's rows (LOSO: 256 rows less the few of one subject). A fold
  with no row in a chunk skips that step. Still ordinary shuffled mini-batch training, but a
  fold's batches are a little smaller than ``batch_size`` when its test subject has rows in the
  chunk (with 442 samples and batch 256: two steps per epoch for every fold, as before).
- **folds on their own / batched**: each fold's training rows, in permutation order, are cut
  into consecutive runs of ``batch_size``.

With one chunk (``batch_size`` >= the samples, as in the default run) the two are the same.

**Three ways to train.** (1) STSTNet on the CPU (default there): the folds train in fixed
groups of 8 models on the shared mini-batches, each group on one thread, ``n_threads`` groups in
parallel. The first layer's input is constant, so every image's 3 x 3 x 3 patches are cut once;
the group's convolution is one product (positions x 28) @ (28 x 128 channels) a few images at
a time, with ReLU, the batch-norm sums and the max pooling in one compiled pass over the block
while it is in cache, and a backward that recomputes the block and builds the gradient in one
pass (no (images x 16 x 30 x 30) activation is stored); the layers after the pooling are
linear up to the loss and run as two batched products; Adam updates the stacked parameters
(element-wise, so exactly each fold's own Adam). (2) Other networks on the CPU: every fold's
model is a plain PyTorch network trained on its own, on one thread, and ``n_threads`` folds
train in parallel (Python threads: PyTorch releases the GIL in its kernels); STSTNet can be
trained so with ``batched=False`` (its ReLU, batch-norm sums and max pooling then share one
hand-written backward, ``networks._relu_stats_pool``). (3) Batched (``batched=True``, the
default on a GPU): the folds' models are one batched model: every
parameter has a leading model axis, the first layer of the flow networks is one convolution
with (models x filters) output channels on the shared input, later convolutions are grouped
(groups = models), dense layers are batched products. A mini-batch step feeds the union of the
folds' batches; a membership mask says which rows belong to which fold's batch. The mask enters
everywhere a sample could influence another: the loss (a fold's mean over its own rows only),
batch-norm statistics (over the fold's own rows), Adam (a fold without a batch at a step is not
updated); the shared path masks the same way. On the CPU the batched model is memory-bound and
no faster than the folds one after another (README). In every way a model's arithmetic does not
depend on how many threads run, so the results do not depend on ``n_threads`` (tested), and a
test subject's rows never reach its fold's gradients or statistics (tests/unit/test_deep.py
perturbs them and finds the fold's parameters bit-identical). Each model draws its initial
weights and dropout masks from its own generator seeded from (seed, fold), only for its own
rows, so the ways give the same model up to floating-point summation order when they feed it
the same mini-batches (tested against STSTNet written with PyTorch's own layers and
``torch.optim.Adam``).

Deterministic: ``torch.use_deterministic_algorithms(True)`` while training, seeded generators
on the CPU (also when the arithmetic runs on a GPU, which is used when present).
"""

from microexp.learn.deep.loso import fit_predict_loso, fit_predict_nested_loso
from microexp.learn.deep.networks import MODELS, PUBLISHED_TRAINING, input_shape
from microexp.learn.deep.training import train_predict

__all__ = [
    "MODELS",
    "PUBLISHED_TRAINING",
    "fit_predict_loso",
    "fit_predict_nested_loso",
    "input_shape",
    "train_predict",
]
