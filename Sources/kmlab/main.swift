print("kmlab")
