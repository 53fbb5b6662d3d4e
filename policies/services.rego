# Exposure: only the Airflow UI and Grafana are reachable from outside the cluster.
package gitops.services

import data.gitops.lib

rules := {"service-exposure"}

external_services := {"airflow-webserver", "grafana"}

deny contains f if {
	some svc in input.objects
	svc.kind == "Service"
	type := object.get(svc, ["spec", "type"], "ClusterIP")
	type in {"LoadBalancer", "NodePort"}
	not svc.metadata.name in external_services
	not lib.excepted(svc, "service-exposure")
	f := lib.finding("service-exposure", svc, "spec.type", concat("", [
		"is type ", type, " but only airflow-webserver and grafana are exposed outside the cluster; use type ClusterIP (kubectl port-forward for ad-hoc access)",
	]))
}
