# Ownership: every object says it belongs to this repository (drift finds extra objects by these
# labels), and every workload runs under a declared ServiceAccount, worker pod templates included
# (the pods the KubernetesExecutor creates from them are workloads too).
package gitops.ownership

import data.gitops.lib

rules := {"ownership-labels", "service-account"}

ownership_keys := ["app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"]

deny contains f if {
	some obj in input.objects
	labels := object.get(obj.metadata, "labels", {})
	some key in ownership_keys
	value := lib.ownership_labels[key]
	object.get(labels, key, "") != value
	not lib.excepted(obj, "ownership-labels")
	f := lib.finding("ownership-labels", obj, concat("", ["metadata.labels.", key]), concat("", [
		"lacks label ", key, "=", value, "; keep it in the kustomization's labels so every object carries it",
	]))
}

service_accounts := {[object.get(sa.metadata, "namespace", ""), sa.metadata.name] |
	some sa in input.objects
	sa.kind == "ServiceAccount"
}

deny contains f if {
	some ps in lib.pods
	account(ps.spec) == "default"
	not lib.excepted(ps.obj, "service-account")
	f := lib.finding("service-account", ps.obj, concat("", [ps.path, ".serviceAccountName"]), concat("", [
		"runs under the namespace's default ServiceAccount; set serviceAccountName to a ServiceAccount of its own",
	]))
}

deny contains f if {
	some ps in lib.pods
	name := account(ps.spec)
	name != "default"
	not [object.get(ps.obj.metadata, "namespace", ""), name] in service_accounts
	not lib.excepted(ps.obj, "service-account")
	f := lib.finding("service-account", ps.obj, concat("", [ps.path, ".serviceAccountName"]), concat("", [
		"runs under ServiceAccount ", name, ", which the overlay does not define; add the ServiceAccount to the manifests",
	]))
}

# Unset, null and "" all mean the namespace's default ServiceAccount.
account(spec) := name if {
	name := object.get(spec, "serviceAccountName", null)
	is_string(name)
	name != ""
}

account(spec) := "default" if {
	name := object.get(spec, "serviceAccountName", null)
	not is_string(name)
}

account(spec) := "default" if spec.serviceAccountName == ""
