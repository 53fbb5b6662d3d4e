# Exposure: only the Airflow UI and Grafana are reachable from outside the cluster.
package gitops.services

import data.gitops.lib

rules := {"service-exposure", "lb-source-ranges"}

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

# A LoadBalancer admits only the client ranges the overlay lists (lb-source-ranges.yaml): none at all
# means the whole internet, and so does an all-addresses range, which needs a reviewed exception.
open_ranges := {"0.0.0.0/0", "::/0"}

deny contains f if {
	some svc in input.objects
	svc.kind == "Service"
	object.get(svc, ["spec", "type"], "ClusterIP") == "LoadBalancer"
	count(object.get(svc, ["spec", "loadBalancerSourceRanges"], [])) == 0
	not lib.excepted(svc, "lb-source-ranges")
	f := lib.finding("lb-source-ranges", svc, "spec.loadBalancerSourceRanges", concat("", [
		"is a LoadBalancer admitting every client address; list the allowed client ranges in the overlay's lb-source-ranges.yaml",
	]))
}

deny contains f if {
	some svc in input.objects
	svc.kind == "Service"
	object.get(svc, ["spec", "type"], "ClusterIP") == "LoadBalancer"
	some i
	range := svc.spec.loadBalancerSourceRanges[i]
	trim_space(range) in open_ranges
	not lib.excepted(svc, "lb-source-ranges")
	f := lib.finding("lb-source-ranges", svc, concat("", ["spec.loadBalancerSourceRanges[", format_int(i, 10), "]"]), concat("", [
		"admits ", range, ", every address on the internet; narrow lb-source-ranges.yaml or annotate ", lib.exception_prefix, "lb-source-ranges with the reason",
	]))
}
