# Where pods run. HA: the management components are required onto the management node role.
# Legacy (single node): every pod lands on the same node as every other.
package gitops.placement

import data.gitops.lib

rules := {"management-placement", "management-components", "legacy-colocation"}

# The workloads the seed puts on the management node, by the seed's own `app` label (its runbook
# reads `kubectl logs -l app=nfs-server`); the component label groups several of them as monitoring.
management_apps := {"airflow-webserver", "postgres", "prometheus", "grafana", "nfs-server"}

# A pod's app: its template's label, else its workload's.
app(ps) := ps.labels.app

app(ps) := a if {
	not ps.labels.app
	a := lib.labels(ps.obj).app
}

management_pods := [ps |
	some ps in lib.pods
	ps.obj.kind != "ConfigMap"
	app(ps) in management_apps
]

deny contains f if {
	lib.overlay_kind == "ha"
	some ps in management_pods
	roles := lib.required_roles(ps.spec)
	roles != {lib.management_role}
	not lib.excepted(ps.obj, "management-placement")
	f := lib.finding(
		"management-placement", ps.obj, concat("", [ps.path, ".affinity.nodeAffinity"]),
		concat("", ["runs ", app(ps), ", which must be required onto node role management (now: ", roles_text(roles), "); add required node affinity or nodeSelector ", lib.node_role_label, "=management"]),
	)
}

roles_text(roles) := "none" if count(roles) == 0

roles_text(roles) := concat(", ", sort(roles)) if count(roles) > 0

# A component renamed or dropped would silently escape the rule above; say so instead.
deny contains f if {
	lib.overlay_kind == "ha"
	some wanted in management_apps
	count([ps | some ps in management_pods; app(ps) == wanted]) == 0
	f := {
		"rule": "management-components",
		"object": object.get(input, ["overlay", "name"], "overlay"),
		"path": "",
		"msg": concat("", [object.get(input, ["overlay", "name"], "overlay"), ": no workload labelled app: ", wanted, "; the HA layout runs it on the management node (restore it, or its label)"]),
	}
}

# --- Legacy: one node for every pod. DaemonSets run on every node by design and are left out. ---
# Index-based: every entry's facts are computed once (rego-cpp is slow on functions over objects).

colocated := [{"obj": ps.obj, "ps": ps, "ref": lib.ref(ps.obj)} |
	some ps in lib.pods
	ps.obj.kind != "DaemonSet"
]

# The one node role each entry is required onto, "" when none (or several).
single_roles := [role_or_empty(lib.required_roles(e.ps.spec)) | some e in colocated]

role_or_empty(roles) := role if {
	count(roles) == 1
	some role in roles
}

role_or_empty(roles) := "" if count(roles) != 1

# [i, j]: entry i must share a node with entry j (required podAffinity on kubernetes.io/hostname).
follows := [[i, j] |
	some i
	e := colocated[i]
	some term in lib.hostname_terms(e.ps.spec, "podAffinity")
	selector := object.get(term, "labelSelector", {})
	some j
	other := colocated[j]
	i != j
	lib.term_selects_namespace(term, lib.namespace_of(e.obj), lib.namespace_of(other.obj))
	lib.selector_matches(selector, other.ps.labels)
]

# Per entry, built by comprehensions over the lists above: rego-cpp re-evaluates rules referenced
# from inside a function on every call, so the functions below take plain values only.
is_followed := [followed |
	some i
	colocated[i]
	followed := count([1 | some pair in follows; pair[1] == i]) > 0
]

# Where a pod ends up: a node role it is pinned to, or the node of the root pod it follows (one hop
# is enough for the seed's layout: every pod follows one anchor pod, which is pinned).
roots := [root(single_roles[i], colocated[i].ref) | some i; colocated[i]]

root(role, _) := concat("", ["node role ", role]) if role != ""

root(role, ref) := concat("", ["the node of ", ref]) if role == ""

free := "nothing (it may run on any node)"

# (A set comprehension written inline as a function argument here is evaluated once for every i by
# rego-cpp, so the followed roots get their own list.)
followed_roots := [{roots[pair[1]] | some pair in follows; pair[0] == i} | some i; colocated[i]]

anchors := [anchor(single_roles[i], roots[i], followed_roots[i], is_followed[i]) |
	some i
	colocated[i]
]

anchor(role, root, _, _) := root if role != ""

anchor(role, _, followed_roots, _) := concat(" and ", sort(followed_roots)) if {
	role == ""
	count(followed_roots) > 0
}

anchor(role, root, followed_roots, followed) := root if {
	role == ""
	count(followed_roots) == 0
	followed
}

anchor(role, _, followed_roots, followed) := free if {
	role == ""
	count(followed_roots) == 0
	not followed
}

placed := [a | some a in anchors; a != free]

# The anchor most pods share (ties broken by name) is the node; pods placed elsewhere, or not
# placed at all, are the violations.
default main_anchor := "nothing"

main_anchor := max({[count([a | some a in placed; a == x]), x] | some x in placed})[1]

deny contains f if {
	lib.overlay_kind == "legacy"
	count(colocated) > 1
	some i
	anchors[i] == free
	e := colocated[i]
	not lib.excepted(e.obj, "legacy-colocation")
	f := lib.finding(
		"legacy-colocation", e.obj, concat("", [e.ps.path, ".affinity"]),
		concat("", ["may run on any node, but the single-node layout keeps every pod together; require podAffinity (topologyKey kubernetes.io/hostname) to the pod the others follow, or the one node's role"]),
	)
}

deny contains f if {
	lib.overlay_kind == "legacy"
	some i
	a := anchors[i]
	a != free
	a != main_anchor
	e := colocated[i]
	not lib.excepted(e.obj, "legacy-colocation")
	f := lib.finding(
		"legacy-colocation", e.obj, concat("", [e.ps.path, ".affinity"]),
		concat("", ["is placed on ", a, " while the other pods go to ", main_anchor, "; the single-node layout keeps every pod together: require podAffinity (topologyKey kubernetes.io/hostname) to the pod the others follow"]),
	)
}
