# RBAC: nothing granted by wildcard, and the Airflow account gets exactly what the
# KubernetesExecutor uses to run worker pods, nothing more.
package gitops.rbac

import data.gitops.lib

rules := {"rbac-wildcard", "airflow-rbac"}

airflow_account := "airflow"

# What the KubernetesExecutor needs, by API group and resource (the Airflow Helm chart's pod-launcher
# role, narrowed to the verbs the executor calls).
executor_needs := {
	"": {
		"pods": {"create", "get", "list", "watch", "patch", "delete"},
		"pods/log": {"get"},
		"pods/exec": {"create", "get"},
		"events": {"list"},
	},
}

role_kinds := {"Role", "ClusterRole"}

deny contains f if {
	some role in input.objects
	role.kind in role_kinds
	rules_of := object.get(role, "rules", [])
	some i
	rule := rules_of[i]
	some field in ["verbs", "resources", "apiGroups", "nonResourceURLs"]
	"*" in object.get(rule, field, [])
	not lib.excepted(role, "rbac-wildcard")
	f := lib.finding("rbac-wildcard", role, concat("", ["rules[", format_int(i, 10), "].", field]), concat("", [
		"grants * in ", field, "; list the exact ", field, " it needs",
	]))
}

binds_airflow(binding) if {
	some subject in object.get(binding, "subjects", [])
	subject.kind == "ServiceAccount"
	subject.name == airflow_account
}

airflow_bindings := [b |
	some b in input.objects
	b.kind in {"RoleBinding", "ClusterRoleBinding"}
	binds_airflow(b)
]

deny contains f if {
	some b in airflow_bindings
	b.kind == "ClusterRoleBinding"
	not lib.excepted(b, "airflow-rbac")
	f := lib.finding("airflow-rbac", b, "roleRef", concat("", [
		"grants the airflow ServiceAccount rights in every namespace; bind its Role with a RoleBinding in the Airflow namespace instead",
	]))
}

bound_roles(b) := [role |
	some role in input.objects
	role.kind == b.roleRef.kind
	role.metadata.name == b.roleRef.name
	same_namespace(role, b)
]

same_namespace(role, _) if role.kind == "ClusterRole"

same_namespace(role, b) if {
	role.kind == "Role"
	object.get(role.metadata, "namespace", "") == object.get(b.metadata, "namespace", "")
}

deny contains f if {
	some b in airflow_bindings
	count(bound_roles(b)) == 0
	not lib.excepted(b, "airflow-rbac")
	f := lib.finding("airflow-rbac", b, "roleRef", concat("", [
		"binds the airflow ServiceAccount to ", b.roleRef.kind, " ", b.roleRef.name, ", which this repository does not define, so its grants cannot be reviewed; define the Role here",
	]))
}

deny contains f if {
	some b in airflow_bindings
	some role in bound_roles(b)
	rules_of := object.get(role, "rules", [])
	some i
	rule := rules_of[i]
	some group in object.get(rule, "apiGroups", [""])
	some resource in object.get(rule, "resources", [])
	some verb in object.get(rule, "verbs", [])
	not verb in object.get(object.get(executor_needs, group, {}), resource, set())
	not lib.excepted(role, "airflow-rbac")
	f := lib.finding("airflow-rbac", role, concat("", ["rules[", format_int(i, 10), "]"]), concat("", [
		"grants ", verb, " on ", group_resource(group, resource), " to the airflow ServiceAccount (through ", lib.ref(b), "), beyond what the KubernetesExecutor needs (pods: create/get/list/watch/patch/delete, pods/log: get, pods/exec: create/get, events: list); remove it",
	]))
}

group_resource(group, resource) := resource if group == ""

group_resource(group, resource) := concat("", [resource, ".", group]) if group != ""
