# Exceptions are reviewed in Git: each names its rule and says why. One without a reason is itself
# a violation (and grants nothing).
package gitops.exceptions

import data.gitops.lib

rules := {"exception-reason"}

annotated(obj) := [{"key": key, "value": anns[key], "path": "metadata.annotations"} |
	anns := lib.annotations(obj)
	some key
	anns[key]
	startswith(key, lib.exception_prefix)
]

template_annotated(obj) := [{"key": key, "value": anns[key], "path": "spec.template.metadata.annotations"} |
	anns := object.get(obj, ["spec", "template", "metadata", "annotations"], {})
	some key
	anns[key]
	startswith(key, lib.exception_prefix)
]

deny contains f if {
	some obj in input.objects
	some a in array.concat(annotated(obj), template_annotated(obj))
	trim_space(a.value) == ""
	f := lib.finding("exception-reason", obj, a.path, concat("", [
		"annotation ", a.key, " gives no reason, so it grants nothing; write why the exception is needed as its value",
	]))
}
