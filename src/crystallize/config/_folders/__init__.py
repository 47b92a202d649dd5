"""Namespace of the packages that stand for experiment folders (see :mod:`crystallize.config.modules`).

Importing it installs the finder that maps ``crystallize.config._folders.<token>`` back
to the folder the token encodes, so worker processes can import a folder's modules by
name.
"""

from crystallize.config.modules import install_finder

install_finder()
