"""Media: stored files (uploads), ffmpeg transcoding jobs, streaming with Range/X-Accel-Redirect.

The only package that imports ffmpeg; every domain stores and serves files through its services.
"""
