"""3DP3 scene perception: objects, depth rendering, likelihoods, pose inference, benchmark data.

Import the submodules directly (``simlab.scenes.render``, ``simlab.scenes.infer`` ...); this
package imports nothing heavy so that ``simlab --help`` stays fast.
"""
