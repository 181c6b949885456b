"""Recipients: the people and offices written to, their files, segments and import."""
