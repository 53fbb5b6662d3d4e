# Credentials never live in Git: Secrets are created out of band (gitops-tool secrets init).
package gitops.secrets

import data.gitops.lib

rules := {"no-secret-data"}

deny contains f if {
	some obj in input.objects
	obj.kind == "Secret"
	some field in ["data", "stringData"]
	count(object.get(obj, field, {})) > 0
	not lib.excepted(obj, "no-secret-data")
	f := lib.finding("no-secret-data", obj, field, concat("", [
		"carries ", field, " in the rendered manifests, so its values are in Git; remove it and create the Secret out of band (gitops-tool secrets init) or through Sealed Secrets / External Secrets",
	]))
}
