# Schedulers of the HA layout: each on its own node role, never two on one node.
# Schedulers are every Deployment labelled app.kubernetes.io/component: scheduler in the render, so a
# scheduler added by `gitops-tool add-scheduler N` is held to the same rules with no edit here.
package gitops.scheduling

import data.gitops.lib

rules := {"scheduler-anti-affinity", "scheduler-node-role", "scheduler-distinct-roles"}

ha if lib.overlay_kind == "ha"

template_labels(obj) := object.get(obj.spec.template, ["metadata", "labels"], {})

# A required hostname anti-affinity term of `obj` that keeps it off the node of `other`.
repels(obj, other) if {
	some term in lib.hostname_terms(obj.spec.template.spec, "podAntiAffinity")
	lib.term_selects_namespace(term, lib.namespace_of(obj), lib.namespace_of(other))
	lib.selector_matches(object.get(term, "labelSelector", {}), template_labels(other))
}

deny contains f if {
	ha
	some obj in lib.schedulers
	count(lib.hostname_terms(obj.spec.template.spec, "podAntiAffinity")) == 0
	not lib.excepted(obj, "scheduler-anti-affinity")
	f := lib.finding(
		"scheduler-anti-affinity", obj, "spec.template.spec.affinity.podAntiAffinity",
		"has no required pod anti-affinity on kubernetes.io/hostname; add a requiredDuringSchedulingIgnoredDuringExecution term with that topologyKey selecting app.kubernetes.io/component: scheduler",
	)
}

deny contains f if {
	ha
	some obj in lib.schedulers
	count(lib.hostname_terms(obj.spec.template.spec, "podAntiAffinity")) > 0
	some other in lib.schedulers
	lib.ref(other) != lib.ref(obj)
	not repels(obj, other)
	not lib.excepted(obj, "scheduler-anti-affinity")
	f := lib.finding(
		"scheduler-anti-affinity", obj, "spec.template.spec.affinity.podAntiAffinity",
		concat("", ["required pod anti-affinity (topologyKey kubernetes.io/hostname) does not select the pods of scheduler ", lib.ref(other), ", so both may land on one node; select every scheduler with app.kubernetes.io/component: scheduler"]),
	)
}

deny contains f if {
	ha
	some obj in lib.schedulers
	roles := lib.required_roles(obj.spec.template.spec)
	count(roles) != 1
	not lib.excepted(obj, "scheduler-node-role")
	f := lib.finding(
		"scheduler-node-role", obj, "spec.template.spec.affinity.nodeAffinity",
		concat("", ["must be required onto exactly one node role, found ", format_int(count(roles), 10), roles_text(roles), "; add required node affinity ", lib.node_role_label, " In [scheduler-N] (one role)"]),
	)
}

deny contains f if {
	ha
	some obj in lib.schedulers
	some role in lib.required_roles(obj.spec.template.spec)
	count(lib.required_roles(obj.spec.template.spec)) == 1
	not regex.match(`^scheduler-[0-9]+$`, role)
	not lib.excepted(obj, "scheduler-node-role")
	f := lib.finding(
		"scheduler-node-role", obj, "spec.template.spec.affinity.nodeAffinity",
		concat("", ["is required onto node role ", role, ", not a scheduler-N role; require its own scheduler-N role"]),
	)
}

# The scheduler's own name (label airflow.apache.org/scheduler) and its node role must agree.
deny contains f if {
	ha
	some obj in lib.schedulers
	own := template_labels(obj)[lib.scheduler_label]
	roles := lib.required_roles(obj.spec.template.spec)
	count(roles) == 1
	not own in roles
	some role in roles
	not lib.excepted(obj, "scheduler-node-role")
	f := lib.finding(
		"scheduler-node-role", obj, "spec.template.spec.affinity.nodeAffinity",
		concat("", ["is ", own, " (label ", lib.scheduler_label, ") but is required onto node role ", role, "; require node role ", own]),
	)
}

deny contains f if {
	ha
	some obj in lib.schedulers
	some role in lib.required_roles(obj.spec.template.spec)
	sharing := [lib.ref(other) |
		some other in lib.schedulers
		lib.ref(other) != lib.ref(obj)
		role in lib.required_roles(other.spec.template.spec)
	]
	count(sharing) > 0
	not lib.excepted(obj, "scheduler-distinct-roles")
	f := lib.finding(
		"scheduler-distinct-roles", obj, "spec.template.spec.affinity.nodeAffinity",
		concat("", ["shares node role ", role, " with ", concat(", ", sort(sharing)), "; give each scheduler its own scheduler-N role"]),
	)
}

roles_text(roles) := "" if count(roles) == 0

roles_text(roles) := concat("", [" (", concat(", ", sort(roles)), ")"]) if count(roles) > 0
