"""Every side effect lives here: kustomize, git, the Kubernetes API, files, schema and policy engines."""
