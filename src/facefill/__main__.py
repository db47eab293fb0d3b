from facefill.cli import main

main()
