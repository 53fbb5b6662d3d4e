# Host access: no privileged containers, host paths or host namespaces, except through a reviewed
# exception annotation (the NFS server and node-exporter need them, and say why).
package gitops.security

import data.gitops.lib

rules := {"privileged", "host-path", "host-network", "host-pid", "host-ipc"}

# Each host namespace is its own rule, so an exception for one does not grant the others.
host_namespace_rules := {"hostNetwork": "host-network", "hostPID": "host-pid", "hostIPC": "host-ipc"}

deny contains f if {
	some entry in lib.containers
	object.get(entry.c, ["securityContext", "privileged"], false) == true
	not lib.excepted(entry.obj, "privileged")
	f := lib.finding("privileged", entry.obj, concat("", [entry.path, ".securityContext.privileged"]), concat("", [
		"container ", entry.c.name, " is privileged; drop privileged (grant single capabilities instead) or annotate ", lib.exception_prefix, "privileged with the reason",
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
	some field, rule in host_namespace_rules
	object.get(ps.spec, field, false) == true
	not lib.excepted(ps.obj, rule)
	f := lib.finding(rule, ps.obj, concat("", [ps.path, ".", field]), concat("", [
		"sets ", field, ": true; remove it or annotate ", lib.exception_prefix, rule, " with the reason",
	]))
}
