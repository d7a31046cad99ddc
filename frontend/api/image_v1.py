"""`tf.compat.v1.image`: `resize_images` and the raw resize ops use TF1's legacy sampling."""
from .image import *  # noqa: F401,F403 - the namespace re-exports tf.image
from ..image_ops import (ResizeMethodV1 as ResizeMethod, resize_bilinear, resize_image_with_crop_or_pad,
                         resize_images, resize_nearest_neighbor)

resize = resize_images
