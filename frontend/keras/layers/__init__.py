"""`tf.keras.layers`."""
from ..engine import Input, InputLayer, Layer  # noqa: F401
from .conv import (Conv1D, Conv2D, Conv2DTranspose, Convolution1D, Convolution2D,  # noqa: F401
                   Convolution2DTranspose, DepthwiseConv2D, SeparableConv2D)
from .core import (ELU, Activation, ActivityRegularization, Add, Average, Concatenate, Cropping2D, Dense, Dropout, Embedding,  # noqa: F401
                   Flatten, GaussianNoise, Identity, Lambda, LeakyReLU, Maximum, Minimum, Multiply, Permute, PReLU,
                   ReLU, RepeatVector, Rescaling, Reshape, Softmax, Subtract, TimeDistributed, UpSampling2D,
                   ZeroPadding2D, add, average, concatenate, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization  # noqa: F401
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,  # noqa: F401
                      GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)
from .rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,  # noqa: F401
                  StackedRNNCells)  # noqa: F401
from .preprocessing import CenterCrop, Normalization, RandomFlip, Resizing  # noqa: F401,E402
from .extra import (Cropping1D, Dot, GaussianDropout, GroupNormalization, Masking, SpatialDropout1D,  # noqa: F401,E402
                    SpatialDropout2D, UnitNormalization, UpSampling1D, ZeroPadding1D, dot)
