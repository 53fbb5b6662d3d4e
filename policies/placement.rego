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

colocated := [{"obj": ps.obj, "ps": ps, "ref": lib.ref(ps.obj)} |
	some ps in lib.pods
	ps.obj.kind != "DaemonSet"
]

single_role(ps) := role if {
	roles := lib.required_roles(ps.spec)
	count(roles) == 1
	some role in roles
}

# The entries a pod must share a node with (required podAffinity on kubernetes.io/hostname).
followed(e) := [other |
	some term in lib.hostname_terms(e.ps.spec, "podAffinity")
	some other in colocated
	other.ref != e.ref
	lib.selector_matches(object.get(term, "labelSelector", {}), other.ps.labels)
]

followed_by_someone(e) if {
	some other in colocated
	some f in followed(other)
	f.ref == e.ref
}

# Where a pod ends up: a node role it is pinned to, or the node of the root pod it follows (one hop
# is enough for the seed's layout: every pod follows PostgreSQL, which is pinned).
root(e) := concat("", ["node role ", single_role(e.ps)])

root(e) := concat("", ["the node of ", e.ref]) if not single_role(e.ps)

anchor(e) := root(e) if single_role(e.ps)

anchor(e) := concat(" and ", sort({root(f) | some f in followed(e)})) if {
	not single_role(e.ps)
	count(followed(e)) > 0
}

anchor(e) := root(e) if {
	not single_role(e.ps)
	count(followed(e)) == 0
	followed_by_someone(e)
}

free := "nothing (it may run on any node)"

anchor(e) := free if {
	not single_role(e.ps)
	count(followed(e)) == 0
	not followed_by_someone(e)
}

anchors := [anchor(e) | some e in colocated]

placed := [a | some a in anchors; a != free]

# The anchor most pods share (ties broken by name) is the node; pods placed elsewhere, or not
# placed at all, are the violations.
default main_anchor := "nothing"

main_anchor := max({[count([a | some a in placed; a == x]), x] | some x in placed})[1]

deny contains f if {
	lib.overlay_kind == "legacy"
	count(colocated) > 1
	some e in colocated
	anchor(e) == free
	not lib.excepted(e.obj, "legacy-colocation")
	f := lib.finding(
		"legacy-colocation", e.obj, concat("", [e.ps.path, ".affinity"]),
		concat("", ["may run on any node, but the single-node layout keeps every pod together; require podAffinity (topologyKey kubernetes.io/hostname) to the pod the others follow, or the one node's role"]),
	)
}

deny contains f if {
	lib.overlay_kind == "legacy"
	some e in colocated
	a := anchor(e)
	a != free
	a != main_anchor
	not lib.excepted(e.obj, "legacy-colocation")
	f := lib.finding(
		"legacy-colocation", e.obj, concat("", [e.ps.path, ".affinity"]),
		concat("", ["is placed on ", a, " while the other pods go to ", main_anchor, "; the single-node layout keeps every pod together: require podAffinity (topologyKey kubernetes.io/hostname) to the pod the others follow"]),
	)
}
