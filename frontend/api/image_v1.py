"""`tf.compat.v1.image`: `resize_images` and the raw resize ops use TF1's legacy sampling."""
from .image import *  # noqa: F401,F403 - the namespace re-exports tf.image
from ..image_ops import (ResizeMethodV1 as ResizeMethod, resize_bilinear, resize_image_with_crop_or_pad,
                         resize_images, resize_nearest_neighbor)

resize = resize_images
from ..image_ops import grayscale_to_rgb, transpose as transpose_image  # noqa: F401
from ..image_color import (adjust_hue, adjust_saturation, decode_bmp, decode_gif, decode_image,  # noqa: F401
                           decode_jpeg, decode_png, draw_bounding_boxes, encode_jpeg, encode_png, hsv_to_rgb,
                           random_hue, random_saturation, rgb_to_hsv, sample_distorted_bounding_box)


def resize_bicubic(images, size, align_corners=False, name=None, half_pixel_centers=False):
    """TF1's raw bicubic resize (legacy sampling unless half_pixel_centers)."""
    if half_pixel_centers:
        from ..image_ops import resize as _resize
        return _resize(images, size, method="bicubic", name=name)
    return resize_images(images, size, method=ResizeMethod.BICUBIC, align_corners=align_corners)


def resize_area(images, size, align_corners=False, name=None):
    """TF1's raw area resize."""
    return resize_images(images, size, method=ResizeMethod.AREA, align_corners=align_corners)
