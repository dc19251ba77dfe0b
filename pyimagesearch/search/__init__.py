"""Search: the index of a gallery's embeddings (exact, or faiss), galleries kept in step with
their folders, recognition with an open-set "unknown", one-shot runs, and the pair metrics
(ROC, equal error rate, threshold choice) every measurement uses.

May import the floors below it: config, cli, plotting, faces/, data/, models/ and the
tutorial's siamese_network and utils.
"""
