from opentrust.cli import main

main()
