"""The question bank: typed questions with versions, tags, images, search."""
