from zxpolicy.cli import main

main()
