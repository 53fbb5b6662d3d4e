# Container hardening (README "Security model"): no privilege escalation, every capability dropped,
# a seccomp profile, a non-root user and a read-only root filesystem, for every container and init
# container, worker pod templates included. Pod-level securityContext counts where the API lets it
# (runAsNonRoot, runAsUser, seccompProfile); a container's own value wins. Privileged containers are
# left to the privileged rule.
# pod-security-restricted mirrors Pod Security Admission's restricted profile for namespaces that
# enforce it, so validate refuses what the API server would.
package gitops.hardening

import data.gitops.lib

rules := {
	"no-privilege-escalation", "drop-all-capabilities", "seccomp-profile", "run-as-non-root",
	"read-only-root-filesystem", "pod-security-restricted", "service-account-token",
}

containers := [{
	"obj": ps.obj,
	"c": c,
	"pod": object.get(ps.spec, "securityContext", {}),
	"spec": ps.spec,
	"path": concat("", [ps.path, ".", field, "[", format_int(i, 10), "]"]),
} |
	some ps in lib.pods
	some field in ["containers", "initContainers"]
	cs := object.get(ps.spec, field, [])
	some i
	c := cs[i]
]

effective(e, key) := e.c.securityContext[key]

effective(e, key) := e.pod[key] if not has_own(e, key)

has_own(e, key) if _ = e.c.securityContext[key]

# A privileged container is the privileged rule's business (denied, or a reviewed exception):
# these rules do not repeat it.
checked := [e | some e in containers; object.get(e.c, ["securityContext", "privileged"], false) != true]

deny contains f if {
	some e in checked
	object.get(e.c, ["securityContext", "allowPrivilegeEscalation"], true) != false
	not lib.excepted(e.obj, "no-privilege-escalation")
	f := lib.finding("no-privilege-escalation", e.obj, concat("", [e.path, ".securityContext.allowPrivilegeEscalation"]), concat("", [
		"container ", e.c.name, " may gain privileges; set securityContext.allowPrivilegeEscalation: false",
	]))
}

deny contains f if {
	some e in checked
	not "ALL" in object.get(e.c, ["securityContext", "capabilities", "drop"], [])
	not lib.excepted(e.obj, "drop-all-capabilities")
	f := lib.finding("drop-all-capabilities", e.obj, concat("", [e.path, ".securityContext.capabilities.drop"]), concat("", [
		"container ", e.c.name, " keeps the runtime's default capabilities; drop ALL (add back only what it needs)",
	]))
}

allowed_seccomp := {"RuntimeDefault", "Localhost"}

deny contains f if {
	some e in checked
	not object.get(effective_or_empty(e, "seccompProfile"), "type", "") in allowed_seccomp
	not lib.excepted(e.obj, "seccomp-profile")
	f := lib.finding("seccomp-profile", e.obj, concat("", [e.path, ".securityContext.seccompProfile"]), concat("", [
		"container ", e.c.name, " runs without a seccomp profile; set seccompProfile type RuntimeDefault (pod or container)",
	]))
}

effective_or_empty(e, key) := v if v := effective(e, key)

effective_or_empty(e, key) := {} if not effective(e, key)

runs_as_root(e) if effective(e, "runAsUser") == 0

runs_as_root(e) if not effective(e, "runAsNonRoot")

deny contains f if {
	some e in checked
	runs_as_root(e)
	not lib.excepted(e.obj, "run-as-non-root")
	f := lib.finding("run-as-non-root", e.obj, concat("", [e.path, ".securityContext.runAsNonRoot"]), concat("", [
		"container ", e.c.name, " may run as root; set runAsNonRoot: true and a non-zero runAsUser (pod or container)",
	]))
}

deny contains f if {
	some e in checked
	object.get(e.c, ["securityContext", "readOnlyRootFilesystem"], false) != true
	not lib.excepted(e.obj, "read-only-root-filesystem")
	f := lib.finding("read-only-root-filesystem", e.obj, concat("", [e.path, ".securityContext.readOnlyRootFilesystem"]), concat("", [
		"container ", e.c.name, " can write its root filesystem; set readOnlyRootFilesystem: true and mount emptyDir volumes where it writes",
	]))
}

# --- Pod Security Admission, restricted profile (Kubernetes Pod Security Standards, v1.30+) ---

psa_enforce := "pod-security.kubernetes.io/enforce"

restricted_namespaces := {ns.metadata.name |
	some ns in input.objects
	ns.kind == "Namespace"
	lib.labels(ns)[psa_enforce] == "restricted"
}

restricted_volume_types := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}

# An object without a namespace is checked where Argo CD puts it (lib.namespace_of).
in_restricted(obj) if lib.namespace_of(obj) in restricted_namespaces

# Each problem as [index into containers, text]: a partial set, since one container may have several.
restricted_problems contains [i, "allowPrivilegeEscalation is not false"] if {
	some i, e in containers
	in_restricted(e.obj)
	object.get(e.c, ["securityContext", "allowPrivilegeEscalation"], true) != false
}

restricted_problems contains [i, "it is privileged"] if {
	some i, e in containers
	in_restricted(e.obj)
	object.get(e.c, ["securityContext", "privileged"], false) == true
}

restricted_problems contains [i, "capabilities do not drop ALL"] if {
	some i, e in containers
	in_restricted(e.obj)
	not "ALL" in object.get(e.c, ["securityContext", "capabilities", "drop"], [])
}

restricted_problems contains [i, concat("", ["it adds capability ", cap])] if {
	some i, e in containers
	in_restricted(e.obj)
	some cap in object.get(e.c, ["securityContext", "capabilities", "add"], [])
	cap != "NET_BIND_SERVICE"
}

restricted_problems contains [i, "it may run as root"] if {
	some i, e in containers
	in_restricted(e.obj)
	runs_as_root(e)
}

restricted_problems contains [i, "its seccomp profile is not RuntimeDefault or Localhost"] if {
	some i, e in containers
	in_restricted(e.obj)
	not object.get(effective_or_empty(e, "seccompProfile"), "type", "") in allowed_seccomp
}

restricted_problems contains [i, concat("", ["the pod sets ", field])] if {
	some i, e in containers
	in_restricted(e.obj)
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	object.get(e.spec, field, false) == true
}

restricted_problems contains [i, concat("", ["the pod mounts a ", type, " volume"])] if {
	some i, e in containers
	in_restricted(e.obj)
	some volume in object.get(e.spec, "volumes", [])
	some type in object.keys(volume)
	type != "name"
	not type in restricted_volume_types
}

restricted_problems contains [i, "it uses a host port"] if {
	some i, e in containers
	in_restricted(e.obj)
	some port in object.get(e.c, "ports", [])
	object.get(port, "hostPort", 0) != 0
}

# No exception lifts this one: the API server would reject the pod whatever Git says.
deny contains f if {
	some [i, problem] in restricted_problems
	e := containers[i]
	f := lib.finding("pod-security-restricted", e.obj, e.path, concat("", [
		"container ", e.c.name, " would be rejected by Pod Security Admission (restricted, enforced on namespace ", lib.namespace_of(e.obj), "): ", problem,
	]))
}

# --- API tokens only where the API is used ---

bound_accounts := {s.name |
	some obj in input.objects
	obj.kind in {"RoleBinding", "ClusterRoleBinding"}
	some s in object.get(obj, "subjects", [])
	s.kind == "ServiceAccount"
}

# A pod mounts a token unless it, or its ServiceAccount, says automountServiceAccountToken: false.
account_automount_false(name) if {
	some sa in input.objects
	sa.kind == "ServiceAccount"
	sa.metadata.name == name
	object.get(sa, "automountServiceAccountToken", true) == false
}

mounts_token(spec) if spec.automountServiceAccountToken == true

mounts_token(spec) if {
	not has_key(spec, "automountServiceAccountToken")
	not account_automount_false(object.get(spec, "serviceAccountName", "default"))
}

has_key(obj, key) if _ = obj[key]

deny contains f if {
	some ps in lib.pods
	mounts_token(ps.spec)
	account := object.get(ps.spec, "serviceAccountName", "default")
	not account in bound_accounts
	not lib.excepted(ps.obj, "service-account-token")
	f := lib.finding("service-account-token", ps.obj, concat("", [ps.path, ".automountServiceAccountToken"]), concat("", [
		"mounts an API token for ServiceAccount ", account, ", which no RoleBinding or ClusterRoleBinding grants anything; set automountServiceAccountToken: false",
	]))
}
