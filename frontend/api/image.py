"""`tf.image` (TF2)."""
from ..image_ops import (ResizeMethod, adjust_brightness, central_crop, convert_image_dtype, crop_to_bounding_box,
                         flip_left_right, flip_up_down, pad_to_bounding_box, per_image_standardization,
                         random_flip_left_right, random_flip_up_down, resize, resize_with_crop_or_pad,
                         rgb_to_grayscale, rot90, transpose)
from ..image_ops import adjust_contrast, adjust_gamma, random_brightness, random_contrast, random_crop
from ..image_ops import grayscale_to_rgb
