"""`{% launch_rules_of version as summary %}`: a saved version's launch rules in words, for
the mapping page (its view stays as it is; the partial asks for what it shows)."""

from django import template

from dashboard.mappings.launch_words import version_summary

register = template.Library()


@register.simple_tag
def launch_rules_of(version):
    return version_summary(version)
