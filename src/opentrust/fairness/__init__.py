"""`opentrust fairness`: does the model treat people differently by who they are?

Two instruments, one result (``opentrust.results.fairness``):

* **counterfactual templates** (``templates``): the same prompt with a demographic slot filled by each group,
  every filled variant asked with the same seeds, so outcomes are paired; gaps between groups judged with paired
  tests (``stats``) against a tolerance the suite sets;
* **ambiguous-context QA in the BBQ format** (``bbq``): BBQ's accuracy and bias scores with bootstrap
  intervals, answers read by likelihood where the backend offers log-probabilities (``extract``).

``run`` drives both through one ``RunSession``; ``report`` renders the terminal table, the audit section and
the JUnit file.
"""
