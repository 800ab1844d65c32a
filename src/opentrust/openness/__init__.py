"""Openness: which Model Openness Framework components were released, under which licences, the MOF
class (as the Model Openness Tool computes it), the OSI Open Source AI Definition verdict, next steps and
a CycloneDX 1.6 AI bill of materials.

    from opentrust.openness import assess_spec
    result = assess_spec("path/to/model-folder")
    result.to_dict()["mof"]["class"]
"""

from opentrust.openness.assess import OpennessResult, assess_evidence, assess_spec

__all__ = ["OpennessResult", "assess_evidence", "assess_spec"]
