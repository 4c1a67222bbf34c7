"""Training and evaluation of the DenseNet121 model (Keras 3; TensorFlow here, JAX on a GPU).

Heavy frameworks are imported inside functions, never at package import.
"""
