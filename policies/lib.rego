# Shared helpers of every policy package: object names, pod specs, selectors, node roles, exceptions.
# Messages are built with concat, never sprintf: regopy 1.5.2's sprintf wraps strings that come from
# builtins or function arguments in raw quotes, which breaks its own JSON output.
# The constants mirror gitops_tool/core/conventions.py (tests/test_policies.py keeps them equal), so
# the policies need nothing from the Python tool but their input document (README, Policies).
package gitops.lib

exception_prefix := "policy.gitops-tool.io/allow-"

node_role_label := "node-role.kubernetes.io/airflow"

hostname_key := "kubernetes.io/hostname"

component_label := "app.kubernetes.io/component"

scheduler_component := "scheduler"

scheduler_label := "airflow.apache.org/scheduler"

management_role := "management"

ownership_labels := {
	"app.kubernetes.io/part-of": "airflow",
	"app.kubernetes.io/managed-by": "gitops-tool",
}

# "ha" or "legacy", decided by the tool from the overlay's node-roles.yaml (see README, Policies).
overlay_kind := object.get(input, ["overlay", "kind"], "ha")

# Kind/namespace/name, the way gitops-tool names objects everywhere.
ref(obj) := concat("/", [obj.kind, ns, obj.metadata.name]) if {
	ns := object.get(obj, ["metadata", "namespace"], "")
	ns != ""
}

ref(obj) := concat("/", [obj.kind, obj.metadata.name]) if {
	object.get(obj, ["metadata", "namespace"], "") == ""
}

labels(obj) := object.get(obj, ["metadata", "labels"], {})

annotations(obj) := object.get(obj, ["metadata", "annotations"], {})

# A finding as every package reports it: conftest reads `msg`; gitops-tool also reads rule and object.
finding(rule, obj, path, text) := {
	"rule": rule,
	"object": ref(obj),
	"path": path,
	"msg": concat(": ", [ref(obj), text]),
}

# An object opts out of one rule with the annotation policy.gitops-tool.io/allow-<rule>: "<reason>",
# on the object or on its pod template. An empty reason grants nothing (gitops.exceptions denies it).
excepted(obj, rule) if {
	reason := annotations(obj)[concat("", [exception_prefix, rule])]
	trim_space(reason) != ""
}

excepted(obj, rule) if {
	template_annotations := object.get(obj, ["spec", "template", "metadata", "annotations"], {})
	reason := template_annotations[concat("", [exception_prefix, rule])]
	trim_space(reason) != ""
}

# --- Pod specs: every place a pod is described, with where it sits in the object. ---
# Built once per query as flat lists with plain comprehensions: rego-cpp evaluates functions that
# take whole objects slowly, so the hot paths avoid them.

template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

# Kinds whose pods are expected to run until stopped.
long_running_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}

# Where each pod-carrying kind keeps its pod template (metadata and spec).
pod_template_paths := {
	"Deployment": ["spec", "template"],
	"StatefulSet": ["spec", "template"],
	"DaemonSet": ["spec", "template"],
	"ReplicaSet": ["spec", "template"],
	"Job": ["spec", "template"],
	"CronJob": ["spec", "jobTemplate", "spec", "template"],
	"Pod": [],
}

workload_pods := [{
	"obj": obj,
	"spec": object.get(obj, array.concat(base, ["spec"]), {}),
	"labels": object.get(obj, array.concat(base, ["metadata", "labels"]), {}),
	"path": concat(".", array.concat(base, ["spec"])),
	"long_running": object.get(
		{"Pod": object.get(obj.spec, "restartPolicy", "Always") == "Always"},
		obj.kind,
		obj.kind in long_running_kinds,
	),
} |
	some obj in input.objects
	base := pod_template_paths[obj.kind]
]

# Pod templates kept as YAML in a ConfigMap (the KubernetesExecutor's worker pod template).
# gitops-tool parses them once, in Python (input.embedded_pods[Kind/namespace/name][key]):
# rego-cpp's yaml.unmarshal costs milliseconds per document. Without that field (another engine
# fed the bare render) they are parsed here.
configmap_pods := [{
	"obj": obj,
	"spec": pod.spec,
	"labels": object.get(pod, ["metadata", "labels"], {}),
	"path": concat("", ["data.", key, ".spec"]),
	"long_running": object.get(pod.spec, "restartPolicy", "Always") == "Always",
} |
	some obj in input.objects
	obj.kind == "ConfigMap"
	embedded := object.get(input.embedded_pods, ref(obj), {})
	some key in object.keys(embedded)
	pod := embedded[key]
	pod.kind == "Pod"
] if input.embedded_pods

configmap_pods := [{
	"obj": obj,
	"spec": pod.spec,
	"labels": object.get(pod, ["metadata", "labels"], {}),
	"path": concat("", ["data.", key, ".spec"]),
	"long_running": object.get(pod.spec, "restartPolicy", "Always") == "Always",
} |
	some obj in input.objects
	obj.kind == "ConfigMap"
	some key in object.keys(object.get(obj, "data", {}))
	regex.match(`\.ya?ml$`, key)
	contains(obj.data[key], "kind: Pod")
	pod := yaml.unmarshal(obj.data[key])
	pod.kind == "Pod"
] if not input.embedded_pods

# Every pod spec of the render: {obj, spec, labels, path, long_running}.
pods := array.concat(workload_pods, configmap_pods)

# Every container of every pod spec with its field path; init containers included.
# (regopy 1.5.2 cannot parse `some i, c in` inside a comprehension, hence the `some i` form.)
containers := [{"obj": ps.obj, "c": c, "path": concat("", [ps.path, ".", field, "[", format_int(i, 10), "]"]), "init": field == "initContainers", "long_running": ps.long_running} |
	some ps in pods
	some field in ["containers", "initContainers"]
	cs := object.get(ps.spec, field, [])
	some i
	c := cs[i]
]

# --- Label selectors (matchLabels and matchExpressions, as Kubernetes evaluates them). ---

selector_matches(selector, pod_labels) if {
	every key, value in object.get(selector, "matchLabels", {}) {
		pod_labels[key] == value
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_matches(expr, pod_labels)
	}
}

expression_matches(expr, pod_labels) if {
	expr.operator == "In"
	pod_labels[expr.key] in expr.values
}

expression_matches(expr, pod_labels) if {
	expr.operator == "NotIn"
	not pod_labels[expr.key] in expr.values
}

expression_matches(expr, pod_labels) if {
	expr.operator == "Exists"
	_ = pod_labels[expr.key]
}

expression_matches(expr, pod_labels) if {
	expr.operator == "DoesNotExist"
	not pod_labels[expr.key]
}

# --- Node roles: the roles a pod spec is REQUIRED onto (nodeSelector or required node affinity). ---

required_roles(spec) := {role} if {
	role := spec.nodeSelector[node_role_label]
}

required_roles(spec) := roles if {
	not spec.nodeSelector[node_role_label]
	terms := spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
	count(terms) > 0
	# Terms are ORed: the pod is held to roles only if every term names roles.
	every term in terms {
		count(term_roles(term)) > 0
	}
	roles := {role | some term in terms; some role in term_roles(term)}
}

required_roles(spec) := set() if {
	not spec.nodeSelector[node_role_label]
	count(object.get(spec, ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"], [])) == 0
}

required_roles(spec) := set() if {
	not spec.nodeSelector[node_role_label]
	terms := spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
	some term in terms
	count(term_roles(term)) == 0
}

term_roles(term) := {role |
	some expr in object.get(term, "matchExpressions", [])
	expr.key == node_role_label
	expr.operator == "In"
	some role in expr.values
}

# Required pod (anti-)affinity terms on the node (hostname) topology.
hostname_terms(spec, kind) := [term |
	some term in object.get(spec, ["affinity", kind, "requiredDuringSchedulingIgnoredDuringExecution"], [])
	term.topologyKey == hostname_key
]

# Where an object rendered without a namespace lands: the Argo CD Application's destination
# (gitops-tool passes it as input.overlay.namespace).
default_namespace := object.get(input, ["overlay", "namespace"], "")

namespace_of(obj) := object.get(obj, ["metadata", "namespace"], default_namespace)

# Whether a pod (anti-)affinity term of a pod in namespace `own` can select pods of namespace
# `other`: the term's `namespaces` and `namespaceSelector` together (the API's union), its own
# namespace when it has neither. A namespaceSelector is matched against the
# kubernetes.io/metadata.name label only (the one every namespace carries): a selector on other
# labels is taken as selecting nothing, so a rule relying on it reports rather than passes.
term_selects_namespace(term, own, other) if {
	count(object.get(term, "namespaces", [])) == 0
	not has_namespace_selector(term)
	own == other
}

term_selects_namespace(term, _, other) if other in object.get(term, "namespaces", [])

term_selects_namespace(term, _, other) if {
	has_namespace_selector(term)
	selector_matches(term.namespaceSelector, {"kubernetes.io/metadata.name": other})
}

has_namespace_selector(term) if is_object(object.get(term, "namespaceSelector", null))

# --- Schedulers: found from the rendered objects, never from a list, so new ones are covered. ---

is_scheduler(obj) if {
	obj.kind == "Deployment"
	labels(obj)[component_label] == scheduler_component
}

is_scheduler(obj) if {
	obj.kind == "Deployment"
	object.get(obj.spec.template, ["metadata", "labels", component_label], "") == scheduler_component
}

schedulers := [obj | some obj in input.objects; is_scheduler(obj)]
