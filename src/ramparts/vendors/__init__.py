"""ICES vendors: the registry of vendors and their approvals, verdict intake, and what a vendor
verdict does to a delivered copy.

    models.py     Vendor, VendorApproval (control-plane tables)
    registry.py   add, approve, revoke approval, suspend, reactivate, rotate, list (audited)
    names.py      the verdict names vendors may send
    intake.py     validation models and submission of verdicts (idempotent per vendor verdict id)
    apply.py      the merge with the copy's verdict and the post-delivery action it triggers
    listing.py    the recent message copies a vendor may judge
    commands.py   `ramparts vendor ...`
    simulate.py   `ramparts vendor simulate`: a deterministic vendor played against a running server
"""
