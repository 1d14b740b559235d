"""Generated parts of the documentation: tables written from the code, so they cannot drift.

The pages in docs/ are prose written by people, with tables generated between markers
(``<!-- BEGIN GENERATED: name ... -->`` ... ``<!-- END GENERATED -->``). :mod:`.pages` says which
table goes where; ``python -m armada.docgen`` rewrites them in place, and tests fail when a
committed page differs from what :func:`.tables.refresh` makes of it. This package sits at the
top of the layers: it reads the code below it and writes files, which the code below must not.
"""
