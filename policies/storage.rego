# Shared storage of the seed: DAGs and logs on NFS, mounted read-write by every node's pods.
package gitops.storage

import data.gitops.lib

rules := {"shared-volumes"}

shared_volumes := {
	"airflow-dags": "5Gi",
	"airflow-logs": "10Gi",
}

storage_class := "nfs-client"

claims := [obj | some obj in input.objects; obj.kind == "PersistentVolumeClaim"]

deny contains f if {
	some name, _ in shared_volumes
	count([c | some c in claims; c.metadata.name == name]) == 0
	overlay := object.get(input, ["overlay", "name"], "overlay")
	f := {
		"rule": "shared-volumes",
		"object": overlay,
		"path": "",
		"msg": concat("", [overlay, ": no PersistentVolumeClaim ", name, "; every scheduler, worker and the webserver mount it (restore it)"]),
	}
}

shared_claims := [{"pvc": pvc, "size": shared_volumes[pvc.metadata.name]} |
	some pvc in claims
	shared_volumes[pvc.metadata.name]
]

deny contains f if {
	some c in shared_claims
	modes := object.get(c.pvc.spec, "accessModes", [])
	not "ReadWriteMany" in modes
	not lib.excepted(c.pvc, "shared-volumes")
	f := lib.finding("shared-volumes", c.pvc, "spec.accessModes", concat("", [
		"access modes are [", concat(", ", modes), "]; set accessModes: [ReadWriteMany] (pods on every node mount it)",
	]))
}

deny contains f if {
	some c in shared_claims
	class := object.get(c.pvc.spec, "storageClassName", "")
	class != storage_class
	not lib.excepted(c.pvc, "shared-volumes")
	f := lib.finding("shared-volumes", c.pvc, "spec.storageClassName", concat("", [
		"storage class is '", class, "'; set storageClassName: ", storage_class,
	]))
}

deny contains f if {
	some c in shared_claims
	size := object.get(c.pvc.spec, ["resources", "requests", "storage"], "")
	not same_size(size, c.size)
	not lib.excepted(c.pvc, "shared-volumes")
	f := lib.finding("shared-volumes", c.pvc, "spec.resources.requests.storage", concat("", [
		"requests '", size, "' of storage; request ", c.size,
	]))
}

same_size(size, wanted) if units.parse_bytes(size) == units.parse_bytes(wanted)
