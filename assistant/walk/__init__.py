"""The walk of one message: the pipeline of stages, and the workers that read ahead."""
