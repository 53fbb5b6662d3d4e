# Host access: no privileged containers, host paths or host namespaces, except through a reviewed
# exception annotation (the NFS server and node-exporter need them, and say why).
package gitops.security

import data.gitops.lib

rules := {"privileged-container", "host-path", "host-namespaces"}

deny contains f if {
	some entry in lib.containers
	object.get(entry.c, ["securityContext", "privileged"], false) == true
	not lib.excepted(entry.obj, "privileged-container")
	f := lib.finding("privileged-container", entry.obj, concat("", [entry.path, ".securityContext.privileged"]), concat("", [
		"container ", entry.c.name, " is privileged; drop privileged (grant single capabilities instead) or annotate ", lib.exception_prefix, "privileged-container with the reason",
	]))
}

deny contains f if {
	some ps in lib.pods
	volumes := object.get(ps.spec, "volumes", [])
	some i
	volume := volumes[i]
	volume.hostPath
	not lib.excepted(ps.obj, "host-path")
	f := lib.finding("host-path", ps.obj, concat("", [ps.path, ".volumes[", format_int(i, 10), "].hostPath"]), concat("", [
		"volume ", volume.name, " mounts host path ", object.get(volume.hostPath, "path", ""), "; use a PersistentVolumeClaim or annotate ", lib.exception_prefix, "host-path with the reason",
	]))
}

deny contains f if {
	some ps in lib.pods
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	object.get(ps.spec, field, false) == true
	not lib.excepted(ps.obj, "host-namespaces")
	f := lib.finding("host-namespaces", ps.obj, concat("", [ps.path, ".", field]), concat("", [
		"sets ", field, ": true; remove it or annotate ", lib.exception_prefix, "host-namespaces with the reason",
	]))
}
