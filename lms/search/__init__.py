"""Full-text search over resources, courses, posts, logs and briefs (Whoosh + jieba adapter)."""
