"""The only package that talks to the cluster: configuration, typed calls, informers."""
