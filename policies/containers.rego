# Every container is sized, pinned and (when long-running) probed.
package gitops.containers

import data.gitops.lib

rules := {"container-resources", "image-pinned", "image-digest", "container-probes"}

resource_fields := [["requests", "cpu"], ["requests", "memory"], ["limits", "cpu"], ["limits", "memory"]]

deny contains f if {
	some e in lib.containers
	resources := object.get(e.c, "resources", {})
	missing := [concat(".", field) | some field in resource_fields; object.get(resources, field, null) == null]
	count(missing) > 0
	not lib.excepted(e.obj, "container-resources")
	f := lib.finding("container-resources", e.obj, concat("", [e.path, ".resources"]), concat("", [
		"container ", e.c.name, " has no resources ", concat(", ", missing), "; set requests and limits for cpu and memory",
	]))
}

# An image reference without a tag or digest floats, and so does `latest`; a digest pins it.
image_problem(image) := "has no tag" if {
	not contains(image, "@")
	last := regex.split("/", image)[count(regex.split("/", image)) - 1]
	not contains(last, ":")
}

image_problem(image) := "uses the floating tag latest" if {
	not contains(image, "@")
	endswith(image, ":latest")
}

# Pinned: a digest, or a tag (after the last slash) other than latest. The cheap test runs first.
pinned(image) if contains(image, "@")

pinned(image) if {
	regex.match(`:[^/:]+$`, image)
	not endswith(image, ":latest")
}

deny contains f if {
	some e in lib.containers
	image := object.get(e.c, "image", "")
	image != ""
	not pinned(image)
	problem := image_problem(image)
	not lib.excepted(e.obj, "image-pinned")
	f := lib.finding("image-pinned", e.obj, concat("", [e.path, ".image"]), concat("", [
		"container ", e.c.name, " image ", image, " ", problem, "; pin an exact version tag (and optionally @sha256: digest)",
	]))
}

deny contains f if {
	some e in lib.containers
	object.get(e.c, "image", "") == ""
	not lib.excepted(e.obj, "image-pinned")
	f := lib.finding("image-pinned", e.obj, concat("", [e.path, ".image"]), concat("", [
		"container ", e.c.name, " has no image; set an image with an exact version tag",
	]))
}

# Digests are never invented: an operator who has recorded the real digests (`gitops-tool images`
# lists every image) turns this on for an overlay by annotating its Namespace
# policy.gitops-tool.io/require-image-digests: "true"; from then on every image must be tag@sha256:...
require_digests_annotation := "policy.gitops-tool.io/require-image-digests"

digests_required if {
	some ns in input.objects
	ns.kind == "Namespace"
	lib.annotations(ns)[require_digests_annotation] == "true"
}

deny contains f if {
	digests_required
	some e in lib.containers
	image := object.get(e.c, "image", "")
	not regex.match(`@sha(256|512):[0-9a-f]{32,}$`, image)
	not lib.excepted(e.obj, "image-digest")
	f := lib.finding("image-digest", e.obj, concat("", [e.path, ".image"]), concat("", [
		"container ", e.c.name, " image ", image, " has no digest, and the namespace requires digests (", require_digests_annotation, "); append the image's real @sha256: digest",
	]))
}

# Long-running: containers of Deployments, StatefulSets, DaemonSets and always-restarting Pods,
# and native sidecars (init containers with restartPolicy Always).
deny contains f if {
	some e in lib.containers
	e.long_running
	not e.init
	missing := [probe | some probe in ["readinessProbe", "livenessProbe"]; object.get(e.c, probe, null) == null]
	count(missing) > 0
	not lib.excepted(e.obj, "container-probes")
	f := lib.finding("container-probes", e.obj, e.path, concat("", [
		"long-running container ", e.c.name, " has no ", concat(" and no ", missing), "; add readiness and liveness probes",
	]))
}

# Native sidecars: init containers that keep running (restartPolicy Always).
deny contains f if {
	some e in lib.containers
	e.init
	object.get(e.c, "restartPolicy", "") == "Always"
	missing := [probe | some probe in ["readinessProbe", "livenessProbe"]; object.get(e.c, probe, null) == null]
	count(missing) > 0
	not lib.excepted(e.obj, "container-probes")
	f := lib.finding("container-probes", e.obj, e.path, concat("", [
		"long-running container ", e.c.name, " has no ", concat(" and no ", missing), "; add readiness and liveness probes",
	]))
}
