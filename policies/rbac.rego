# RBAC: nothing granted by wildcard; the Airflow account gets exactly what the KubernetesExecutor
# uses to run worker pods, the webserver's account what it uses to read a running task's pod log.
package gitops.rbac

import data.gitops.lib

rules := {"rbac-wildcard", "airflow-rbac"}

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

# What the webserver needs to show a running task's log from its worker pod (the KubernetesExecutor's
# get_task_log: list the task's pods by label, read the log).
webserver_needs := {"": {"pods": {"get", "list"}, "pods/log": {"get"}}}

# Each Airflow ServiceAccount, what it may be granted, and why (for the message).
account_needs := {
	"airflow": executor_needs,
	"airflow-webserver": webserver_needs,
}

account_purpose := {
	"airflow": "the KubernetesExecutor needs (pods: create/get/list/watch/patch/delete, pods/log: get, pods/exec: create/get, events: list)",
	"airflow-webserver": "the webserver needs to read a running task's pod log (pods: get/list, pods/log: get)",
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

# [binding, account] for every binding of one of the Airflow ServiceAccounts.
airflow_bindings := [[b, account] |
	some b in input.objects
	b.kind in {"RoleBinding", "ClusterRoleBinding"}
	some subject in object.get(b, "subjects", [])
	subject.kind == "ServiceAccount"
	account := subject.name
	account_needs[account]
]

deny contains f if {
	some [b, account] in airflow_bindings
	b.kind == "ClusterRoleBinding"
	not lib.excepted(b, "airflow-rbac")
	f := lib.finding("airflow-rbac", b, "roleRef", concat("", [
		"grants the ", account, " ServiceAccount rights in every namespace; bind its Role with a RoleBinding in the Airflow namespace instead",
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
	some [b, account] in airflow_bindings
	count(bound_roles(b)) == 0
	not lib.excepted(b, "airflow-rbac")
	f := lib.finding("airflow-rbac", b, "roleRef", concat("", [
		"binds the ", account, " ServiceAccount to ", b.roleRef.kind, " ", b.roleRef.name, ", which this repository does not define, so its grants cannot be reviewed; define the Role here",
	]))
}

deny contains f if {
	some [b, account] in airflow_bindings
	needs := account_needs[account]
	some role in bound_roles(b)
	rules_of := object.get(role, "rules", [])
	some i
	rule := rules_of[i]
	some group in object.get(rule, "apiGroups", [""])
	some resource in object.get(rule, "resources", [])
	some verb in object.get(rule, "verbs", [])
	not verb in object.get(object.get(needs, group, {}), resource, set())
	not lib.excepted(role, "airflow-rbac")
	f := lib.finding("airflow-rbac", role, concat("", ["rules[", format_int(i, 10), "]"]), concat("", [
		"grants ", verb, " on ", group_resource(group, resource), " to the ", account, " ServiceAccount (through ", lib.ref(b), "), beyond what ", account_purpose[account], "; remove it",
	]))
}

group_resource(group, resource) := resource if group == ""

group_resource(group, resource) := concat("", [resource, ".", group]) if group != ""
