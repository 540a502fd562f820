"""What functions/<name>/app.py use: the resolver with auth, limits and the one error mapping."""
