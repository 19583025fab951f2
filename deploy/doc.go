// Package deploy holds how Evercast runs for real: the Kubernetes manifests
// under k8s/ (a kustomize base), the operations notes in README.md, and tests
// that check those manifests, the repository's Dockerfile and its
// docker-compose.yml against the settings Evercast actually reads
// (internal/config), without a container engine or a cluster.
package deploy
