"""``hack/cluster``: a real Kubernetes control plane on loopback, with hpa installed and running.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the binaries that
``hack/build-control-plane`` builds from their Go modules. The API server runs RBAC and the
default admission plugins; hpa is installed as ``hpa manifests`` describes it, except that its
Deployment is replaced by ``hpa run`` processes on this machine, each authenticated as the hpa
ServiceAccount, behind a local stand-in for the webhook Service. Three Node objects let the
scheduler bind pods; a stand-in kubelet reports bound pods Running and finishes their deletion,
since no container ever runs. docs/control-plane.md describes it.
"""
